"""The operator's cockpit: the Campaigns view inside Airflow's UI."""
