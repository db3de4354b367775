"""The Streamlit side of the optimizer lab: state, caching, sidebar, figure and export builders.

Pages import from here; nothing in this package draws a page on import. Figure and export
builders (``figures``, ``export``) are pure functions of engine results and are unit-tested.
"""
