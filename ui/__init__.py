"""Streamlit UI: one page per job plus history."""
