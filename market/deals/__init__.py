"""Deals: what a closed auction or a fixed-price purchase agreed, between seller and buyer."""
