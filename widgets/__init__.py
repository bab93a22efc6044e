"""Renderers of promo material: plain functions of (catalog, prices, urls, options).

Modules here import only the pure ``storefront`` modules, never the Flask app, so
the CLI, the web app and the tests call them the same way.
"""
