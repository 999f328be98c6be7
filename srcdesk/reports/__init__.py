"""Printed and exported output: PDFs (ReportLab) and their content. Pure functions: no Qt, no database."""
