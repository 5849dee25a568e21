def product(request):
    """Role flags for navigation; permissions are still enforced by each view."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"roles": frozenset()}
    return {"roles": frozenset(user.groups.values_list("name", flat=True))}
