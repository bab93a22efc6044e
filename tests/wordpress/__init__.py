"""A real WordPress (Debian's package) for the embed tests: see :mod:`tests.wordpress.site`."""
