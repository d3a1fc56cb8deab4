"""Streamlit dashboard for bench results: every strategy against the baseline at a glance."""
