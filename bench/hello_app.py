"""A bare Flask "hello" page: the yardstick each benchmark is measured beside."""

from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello():
    return "hello"
