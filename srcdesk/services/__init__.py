"""Domain operations: validate, check permissions, write, stamp who/where, capture for sync.

Nothing here imports Qt. Every write in srcdesk goes through these functions; each one
is a single transaction and raises a :class:`srcdesk.errors.SrcdeskError` with a
sentence for people when it refuses.
"""
