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

    # No icons: Streamlit's ":material/…:" icons are a web font fetched from an outside host,
    # which an offline classroom or conference network cannot reach (nothing is fetched from
    # outside: the browser tests fail on any request that leaves the machine).
    PAGES = [
        st.Page("pages/0_setup.py", title="Setup"),
        st.Page("pages/1_loss_curves.py", title="Loss curves", default=True),
        st.Page("pages/2_trajectories.py", title="Descent trajectories"),
        st.Page("pages/3_gradient_health.py", title="Gradient health"),
        st.Page("pages/4_loss_landscape.py", title="Loss landscape"),
        st.Page("pages/5_data.py", title="Data"),
        st.Page("pages/6_learn.py", title="Learn"),
        st.Page("pages/7_network.py", title="Network"),
        st.Page("pages/8_sweeps.py", title="Sweeps"),
    ]

    st.navigation(PAGES).run()
