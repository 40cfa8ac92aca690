"""Tracking: signed tokens and short codes, the web app, webhooks and offline imports."""
