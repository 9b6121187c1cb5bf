"""The gold layer's own logic beside the dbt project: the dated marts' revisions."""
