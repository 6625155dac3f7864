"""Adapters to other frameworks; each module imports its framework lazily."""
