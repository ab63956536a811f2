"""Renderers: each reads an analysis result and writes one format. No decisions are made here."""
