"""Storefront: an author's own storefront and promo kit.

Kept tiny on purpose: importing the domain (``storefront.catalog``,
``storefront.pricing``) must never start Flask.
"""

__version__ = "0.1.0"
