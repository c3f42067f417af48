"""Pure text functions: cleaning, segmentation, keywords, sentiment and topic matching.

Nothing here touches the database, the network or the configuration file; callers pass plain
values in and get plain values back, so each function can be tested alone.
"""
