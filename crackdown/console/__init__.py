"""What a terminal needs: colour, CJK-aware columns, tables and progress lines."""
