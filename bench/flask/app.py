"""The seed's service: the process environment as JSON, on / and /env.

Run as it would be deployed: `gunicorn --workers N --bind ADDR app:app` from this folder.
"""

import os

from flask import Flask, jsonify

app = Flask(__name__)


@app.get("/")
@app.get("/env")
def env():
    return jsonify(dict(os.environ))
