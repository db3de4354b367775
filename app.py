"""Entry point of the optimizer lab: page configuration, navigation, and the local process pool
started early (its workers load while the first page renders; dashboard.compute).

All of it sits under ``if __name__ == "__main__"``: Streamlit runs this file as ``__main__``, and
a process that multiprocessing starts (forkserver or spawn: the pool's workers, a Dask
LocalCluster's) imports its parent's main script first, as ``__mp_main__``. In the dashboard that
is this file, which must then do nothing.
"""

if __name__ == "__main__":
    import streamlit as st

    from dashboard import compute

    st.set_page_config(page_title="Optimizer lab", layout="wide")
    compute.local_pool().warm()

    PAGES = [
        st.Page(
            "pages/1_loss_curves.py",
            title="Loss curves",
            icon=":material/show_chart:",
            default=True,
        ),
        st.Page("pages/2_trajectories.py", title="Descent trajectories", icon=":material/explore:"),
        st.Page(
            "pages/3_gradient_health.py", title="Gradient health", icon=":material/monitor_heart:"
        ),
        st.Page("pages/4_loss_landscape.py", title="Loss landscape", icon=":material/landscape:"),
        st.Page("pages/5_data.py", title="Data", icon=":material/table_chart:"),
        st.Page("pages/6_learn.py", title="Learn", icon=":material/school:"),
        st.Page("pages/8_sweeps.py", title="Sweeps"),
    ]

    st.navigation(PAGES).run()
