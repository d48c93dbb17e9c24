"""The DAM (OTMM ``otmmapi/v6``) client, free of Airflow: transport, folders, assets, jobs, versions, domains."""
