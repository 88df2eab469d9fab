"""What each command does, from its settings to its summary: where git, the derivation, the
store and delivery meet. May use every package below it; reads neither argv nor the terminal.
"""
