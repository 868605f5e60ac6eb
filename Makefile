# The two commands of the README. Both install what is missing first.
.PHONY: demo test setup

demo: setup
	.venv/bin/tidelens demo

test: setup
	scripts/test.sh

setup:
	scripts/setup.sh
