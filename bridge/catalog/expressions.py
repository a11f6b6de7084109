"""The expression language of model types: an allow-list grammar, its rendering and its evaluation.

Grammar (anything else is refused before it runs, never ``eval``-ed as written)::

    expression := number | name | unit | expression OP expression | (+|-) expression
                | function(expression, ...)
    OP         := + | - | * | / | **
    function   := exp | log | sqrt | abs | min | max | decay

``name`` is a declared parameter or state variable (or, where documented, ``I_ext``, ``h``,
``first``, ``V``, ``T``, ``weight`` or a temporary assigned earlier in the same rule); ``unit`` is
one of :data:`UNIT_SYMBOLS` (``0.04/(mV*ms)*V_m**2``).  A threshold is one comparison
(``V_m >= V_th``; ``>``/``>=`` and ``<``/``<=``); statements (resets, event rules) are
``name = expression``.  ``decay(h, tau)`` is ``exp(-h/tau)``, and 0 when ``tau`` is 0;
``min``/``max`` take two arguments of one dimension.

The stored (canonical) form of every expression has its unit symbols replaced by their factors in
bridge's internal units (:mod:`bridge.units`; ``mV``, ``ms``, ``pA`` are 1, ``nA`` is 1000) and
multiplications/divisions by such a factor of 1 dropped, so ``140*mV/ms`` is stored as ``140``.
Code generators translate the canonical form (:func:`render`, :class:`Renderer`); the reference
backend evaluates it with NumPy (:func:`evaluate`, :func:`execute`).
"""
from __future__ import annotations

import ast
from functools import lru_cache
from typing import Any, Callable, Iterable, Mapping, MutableMapping

import numpy as np

from .base import Statements

#: functions of the language -> number of arguments
FUNCTIONS: dict[str, int] = {"exp": 1, "log": 1, "sqrt": 1, "abs": 1, "min": 2, "max": 2, "decay": 2}
#: unit symbols an expression may use (their factors come from :mod:`bridge.catalog.dimensions`)
UNIT_SYMBOLS = ("ms", "us", "mV", "uV", "pA", "nA", "uA", "pF", "nF", "uF", "pS", "nS", "uS", "mS",
                "mM", "uM", "nM", "Hz", "kHz", "Gohm", "Mohm", "um")
_BINARY = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**"}
_COMPARISONS = {ast.Gt: ">", ast.GtE: ">=", ast.Lt: "<", ast.LtE: "<="}


class ExpressionError(ValueError):
    """An expression outside the grammar; the message says what and where (the caller adds the field)."""


# ---------------------------------------------------------------------------------------- parsing
def parse(text: Any) -> ast.expr:
    """Parse one expression and check it against the grammar; returns the expression node."""
    tree = _parse(text, "eval")
    _check(tree.body)
    return tree.body


def parse_comparison(text: Any) -> tuple[ast.expr, str, ast.expr]:
    """Parse a threshold ``left OP right`` (OP one of > >= < <=); returns (left, OP, right)."""
    tree = _parse(text, "eval").body
    if not (isinstance(tree, ast.Compare) and len(tree.ops) == 1 and type(tree.ops[0]) in _COMPARISONS):
        raise ExpressionError(f"{text!r} is not one comparison such as 'V_m >= V_th'")
    left, right = tree.left, tree.comparators[0]
    _check(left)
    _check(right)
    return left, _COMPARISONS[type(tree.ops[0])], right


def parse_statement(text: Any) -> tuple[str, ast.expr]:
    """Parse ``name = expression``; returns (name, expression node)."""
    if not isinstance(text, str):
        raise ExpressionError(f"{text!r} is not a statement such as 'V_m = V_reset'")
    try:
        module = ast.parse(text.strip(), mode="exec")
    except SyntaxError:
        raise ExpressionError(f"{text!r} is not a statement such as 'V_m = V_reset'") from None
    body = module.body
    if not (len(body) == 1 and isinstance(body[0], ast.Assign) and len(body[0].targets) == 1
            and isinstance(body[0].targets[0], ast.Name)):
        raise ExpressionError(f"{text!r} is not one assignment 'name = expression'")
    _check(body[0].value)
    return body[0].targets[0].id, body[0].value


def _parse(text: Any, mode: str) -> ast.Expression:
    if isinstance(text, bool) or not isinstance(text, (str, int, float)):
        raise ExpressionError(f"{text!r} is not an expression")
    source = str(text).strip()
    if not source:
        raise ExpressionError("an empty expression")
    try:
        return ast.parse(source, mode=mode)
    except SyntaxError as exc:
        raise ExpressionError(f"cannot parse {source!r} ({exc.msg})") from None


def _check(node: ast.AST) -> None:
    """Refuse every node outside the grammar (attribute access, subscripts, lambdas, strings, ...)."""
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
            raise ExpressionError(f"{ast.unparse(node)} is not a number")
    elif isinstance(node, ast.Name):
        pass
    elif isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        _check(node.left)
        _check(node.right)
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        _check(node.operand)
    elif isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
            raise ExpressionError(f"{ast.unparse(node.func)}(...) is not one of the functions "
                                  f"{', '.join(FUNCTIONS)}")
        if node.keywords or len(node.args) != FUNCTIONS[node.func.id] \
                or any(isinstance(a, ast.Starred) for a in node.args):
            raise ExpressionError(f"{node.func.id} takes {FUNCTIONS[node.func.id]} argument(s): "
                                  f"{ast.unparse(node)}")
        for argument in node.args:
            _check(argument)
    else:
        raise ExpressionError(f"{ast.unparse(node)!r} is not allowed (only numbers, declared names, units, "
                              "+ - * / **, and the functions " + ", ".join(FUNCTIONS) + ")")


def identifiers(node: ast.AST) -> list[str]:
    """Names an expression reads (function names excluded), in order of first appearance."""
    seen: dict[str, None] = {}
    for child in ast.walk(node):
        if isinstance(child, ast.Call):
            continue
        if isinstance(child, ast.Name):
            seen.setdefault(child.id, None)
    calls = {c.func.id for c in ast.walk(node) if isinstance(c, ast.Call) and isinstance(c.func, ast.Name)}
    return [n for n in seen if n not in calls]


def called_functions(expressions: Iterable[str]) -> set[str]:
    """Names of the language functions that ``expressions`` (canonical texts) call."""
    return {node.func.id for text in expressions for node in ast.walk(ast.parse(text, mode="eval"))
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)}


# ---------------------------------------------------------------------------------------- canonical form
def canonical(node: ast.expr, unit_factors: Mapping[str, float]) -> str:
    """The stored form of an expression: unit symbols replaced by their factors, products and
    quotients by a factor of 1 dropped (exact: ``x*1.0`` and ``x/1.0`` are ``x``)."""
    return ast.unparse(_fold_units(node, unit_factors)[0])


def _fold_units(node: ast.expr, factors: Mapping[str, float]) -> tuple[ast.expr, bool]:
    """(node with units replaced, whether it is a pure unit factor of value 1)."""
    if isinstance(node, ast.Name) and node.id in factors:
        value = factors[node.id]
        return ast.Constant(value=int(value) if float(value).is_integer() else value), value == 1.0
    if isinstance(node, ast.BinOp):
        left, left_one = _fold_units(node.left, factors)
        right, right_one = _fold_units(node.right, factors)
        if isinstance(node.op, ast.Mult) and (left_one or right_one):
            return (right, right_one) if left_one else (left, False)
        if isinstance(node.op, ast.Div) and right_one:
            return left, left_one
        return ast.BinOp(left=left, op=node.op, right=right), False
    if isinstance(node, ast.UnaryOp):
        return ast.UnaryOp(op=node.op, operand=_fold_units(node.operand, factors)[0]), False
    if isinstance(node, ast.Call):
        return ast.Call(func=node.func, args=[_fold_units(a, factors)[0] for a in node.args], keywords=[]), False
    return node, False


def difference(left: ast.expr, operator: str, right: ast.expr) -> ast.expr:
    """The threshold function of ``left OP right``: >= 0 exactly when the comparison holds (for
    ``>``/``>=`` ``left - right``, for ``<``/``<=`` ``right - left``)."""
    if operator in (">", ">="):
        return ast.BinOp(left=left, op=ast.Sub(), right=right)
    return ast.BinOp(left=right, op=ast.Sub(), right=left)


# ---------------------------------------------------------------------------------------- analysis
def degree(node: ast.AST, variables: Iterable[str]) -> int | None:
    """Polynomial degree of ``node`` in ``variables`` (None: not a polynomial in them, e.g. an
    exponential of one).  An expression is affine in the variables when its degree is <= 1."""
    variables = set(variables)

    def walk(n: ast.AST) -> int | None:
        if isinstance(n, ast.Constant):
            return 0
        if isinstance(n, ast.Name):
            return 1 if n.id in variables else 0
        if isinstance(n, ast.UnaryOp):
            return walk(n.operand)
        if isinstance(n, ast.BinOp):
            left, right = walk(n.left), walk(n.right)
            if left is None or right is None:
                return None
            if isinstance(n.op, (ast.Add, ast.Sub)):
                return max(left, right)
            if isinstance(n.op, ast.Mult):
                return left + right
            if isinstance(n.op, ast.Div):
                return left if right == 0 else None
            if isinstance(n.op, ast.Pow):
                if right == 0 and left == 0:
                    return 0
                exponent = _integer(n.right)
                return left * exponent if exponent is not None and exponent >= 0 else None
        if isinstance(n, ast.Call):
            arguments = [walk(a) for a in n.args]
            return 0 if all(a == 0 for a in arguments) else None
        return None

    return walk(node)


def _integer(node: ast.AST) -> int | None:
    value = constant_value(node)
    return int(value) if value is not None and float(value).is_integer() else None


def constant_value(node: ast.AST) -> float | None:
    """The value of a literal number, possibly signed, else None."""
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
        return float(node.value)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        inner = constant_value(node.operand)
        return None if inner is None else (-inner if isinstance(node.op, ast.USub) else inner)
    return None


# ---------------------------------------------------------------------------------------- rendering
class Renderer:
    """Render a canonical expression for a code generator, with minimal parentheses.

    ``rename`` maps identifiers to their text in the target; ``functions`` maps a language function
    to a callable returning the target's text for the rendered arguments (default: the same call);
    ``power`` is the target's power operator (``"^"`` in NMODL); ``number`` writes a numeric literal
    (C-like targets need ``140.0``, not ``140``, so that ``1/2`` is not an integer division).
    """

    _PRECEDENCE = {ast.Add: 1, ast.Sub: 1, ast.Mult: 2, ast.Div: 2, ast.Pow: 4}

    def __init__(self, rename: Mapping[str, str] | None = None,
                 functions: Mapping[str, Callable[..., str]] | None = None, power: str = "**",
                 number: Callable[[float], str] = repr):
        self.rename = rename or {}
        self.functions = functions or {}
        self.power = power
        self.number = number

    def __call__(self, expression: str | ast.AST) -> str:
        node = ast.parse(expression, mode="eval").body if isinstance(expression, str) else expression
        return self.text(node)[0]

    def text(self, node: ast.AST) -> tuple[str, int]:
        """(text, precedence of its outermost operator; 9 for atoms)."""
        if isinstance(node, ast.Constant):
            return self.number(node.value), 9 if node.value >= 0 else 3
        if isinstance(node, ast.Name):
            return self.rename.get(node.id, node.id), 9
        if isinstance(node, ast.UnaryOp):
            inner, precedence = self.text(node.operand)
            if precedence <= 4:  # -(a + b), -(a*b), -(a^b): keep the grouping explicit
                inner = f"({inner})"
            return ("-" if isinstance(node.op, ast.USub) else "+") + inner, 3
        if isinstance(node, ast.BinOp):
            mine = self._PRECEDENCE[type(node.op)]
            left, lp = self.text(node.left)
            right, rp = self.text(node.right)
            if isinstance(node.op, ast.Pow):
                left = left if lp == 9 else f"({left})"
                right = right if rp == 9 else f"({right})"
                return f"{left}{self.power}{right}", mine
            if lp < mine:
                left = f"({left})"
            if rp < mine or (rp == mine and isinstance(node.op, (ast.Sub, ast.Div))):
                right = f"({right})"
            return f"{left} {_BINARY[type(node.op)]} {right}" if mine == 1 else f"{left}{_BINARY[type(node.op)]}{right}", mine
        if isinstance(node, ast.Call):
            arguments = [self.text(a)[0] for a in node.args]
            name = node.func.id
            if name in self.functions:
                return self.functions[name](*arguments), 9
            return f"{name}({', '.join(arguments)})", 9
        raise ExpressionError(f"cannot render {ast.unparse(node)}")


def render(expression: str, rename: Mapping[str, str] | None = None) -> str:
    """Render a canonical expression in Python syntax with identifiers renamed."""
    return Renderer(rename)(expression)


# ---------------------------------------------------------------------------------------- evaluation
def _exp(x):
    # clip only where exp would overflow to inf (V far beyond any spike cut-off)
    return np.exp(np.minimum(x, 700.0))


def _decay(h, tau):
    tau = np.asarray(tau, dtype=float)
    safe = np.where(tau > 0, tau, 1.0)
    return np.where(tau > 0, np.exp(-np.asarray(h, dtype=float) / safe), 0.0)


#: the language's functions for NumPy evaluation (the reference backend)
NUMPY_FUNCTIONS: dict[str, Any] = {"exp": _exp, "log": np.log, "sqrt": np.sqrt, "abs": np.abs,
                                   "min": np.minimum, "max": np.maximum, "decay": _decay, "__builtins__": {}}


@lru_cache(maxsize=None)
def compiled(expression: str):
    """Compile a canonical expression once, after checking it against the grammar again."""
    _check(ast.parse(expression, mode="eval").body)
    return compile(expression, f"<bridge expression: {expression}>", "eval")


def evaluate(expression: str, namespace: MutableMapping[str, Any]):
    """Evaluate a canonical expression with NumPy over ``namespace`` (numbers or arrays)."""
    return eval(compiled(expression), NUMPY_FUNCTIONS, namespace)  # noqa: S307 - grammar-checked


@lru_cache(maxsize=None)
def _compiled_tuple(expressions: tuple[str, ...]):
    for expression in expressions:
        _check(ast.parse(expression, mode="eval").body)
    return compile("(" + "".join(f"({e}), " for e in expressions) + ")", "<bridge expressions>", "eval")


def evaluate_all(expressions: tuple[str, ...], namespace: MutableMapping[str, Any]) -> tuple:
    """Evaluate several canonical expressions over one ``namespace`` in one pass (a right-hand side
    evaluated at every solver stage)."""
    return eval(_compiled_tuple(expressions), NUMPY_FUNCTIONS, namespace)  # noqa: S307 - grammar-checked


def execute(statements: Statements, namespace: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Execute ordered assignments in ``namespace`` (modified in place and returned)."""
    for variable, expression in statements:
        namespace[variable] = evaluate(expression, namespace)
    return namespace
