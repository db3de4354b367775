"""Placeholder page (being built)."""

from dashboard.page import setup

setup("6_learn")
