"""Synthetic recordings made from a real snapshot: the bundled sample and whole simulated days."""
