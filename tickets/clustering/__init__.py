"""The clustering engine: every ticket lands in the best open cluster of its kind, or opens one.

`features` reads a ticket, `index` keeps the inverted index and profiles in the database,
`engine` ranks and assigns, `evaluation` replays real reports to measure it.
"""
