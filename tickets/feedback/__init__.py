"""Feedback routing: queues per feedback kind, their owners' handling, feature requests weighed by revenue."""
