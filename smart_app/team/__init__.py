"""The care team's views beyond one visit: the clinic-day panel and the CDS Hooks service."""
