"""The register of cooperations as people supply it: CSV import of fiches."""
