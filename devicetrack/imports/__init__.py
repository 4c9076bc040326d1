"""Import templates: a workbook per import, in the reader's language."""
