"""Placeholder page (being built)."""

from dashboard.page import setup

setup("4_loss_landscape")
