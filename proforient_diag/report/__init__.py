"""Publishing: Russian number formatting, the seaborn theme, the papermill runner and exports."""
