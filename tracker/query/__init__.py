"""The run filter language and sort keys, parsed into a small immutable AST.

This is the one place the language is parsed; the API, the web UI and the MLflow
endpoints all go through it, and tracker.run_search compiles the AST into ORM
queries. Pure stdlib on purpose, so it can be tested (and fuzzed) without Django.

- tracker.query.syntax: the AST (Field, Comparison, And, Or, Not), FilterError and the
  names the language knows;
- tracker.query.parser: parse_filter, parse_field, parse_order_by;
- tracker.query.lexer, .fields, .checks: the tokens, the field references, and the
  comparisons refused because they never make sense.

Filters look like::

    validation.f1 > 0.8 and params.model = "svm"
    test/long_texts.f1 >= 0.7 or not (tags.stage = "dev" or baseline = true)
    name ~ "lr-%" and started_at >= "2024-05-01"

Fields:

* ``<split>.<key>``: a metric's final value on a split (``train``, ``validation``,
  ``test``) or on a slice of one (``test/long_texts.f1``);
* ``params.<name>`` (or ``param.``) and ``tags.<name>`` (or ``tag.``);
* ``datasets.name``, ``datasets.digest``, ``datasets.context`` (or ``dataset.``): the run
  has an input dataset whose name, digest or use ("training") compares so;
* a bare attribute name from ``ATTRIBUTES`` (or ``attributes.<name>``).

A key or name containing ``.``, ``/`` or other characters goes in backquotes:
``validation.`f1.macro```, ``params.`optimizer.lr```.

Values are numbers, strings in double or single quotes (a backslash escapes the
quote character or a backslash; any other backslash is kept, so LIKE escapes
such as ``"100\\%"`` reach the database intact), ``true``/``false`` and ``null``.
Keywords (``and``, ``or``, ``not``, ``like``, ``ilike``, ``true``, ``false``,
``null``) are case-insensitive; field names are not.
"""
