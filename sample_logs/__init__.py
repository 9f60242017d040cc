"""Bundled sample refund logs with ground truth, shipped as package data."""
