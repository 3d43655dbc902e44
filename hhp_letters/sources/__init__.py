"""Spreadsheet readers: .xlsx and delimited text → a :class:`Table` of rows that remember where
each value came from."""

from hhp_letters.sources.table import Cell, Row, Table, column_letter, read_table

__all__ = ["Cell", "Row", "Table", "column_letter", "read_table"]
