from mutualaid.cli import app

app(prog_name="mutualaid")
