"""Placeholder page (being built)."""

from dashboard.page import setup

setup("3_gradient_health")
