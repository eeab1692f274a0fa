#!/usr/bin/env python3
"""Grading cases generated from the HMMT answers in ../shared/datasets (never committed: the
output holds competition answers).

Usage: python3 tests/grading/hmmt_cases.py PATH... > cases.jsonl
  PATH: hmmt_feb_*.jsonl files, or a directory (its hmmt_feb_*.jsonl are read).

For EVERY answer G, each rule of RULES that applies writes one case
  {"id": "<dataset id>#<rule>", "gold": G, "response": ..., "expected": bool,
   "strict"?: bool, "after_think"?: bool, "tags": ["hmmt", "<rule>"]}
Rules are generic and deterministic (no per-problem knowledge). A small exact evaluator
(fractions.Fraction, with decimal.Decimal at 60 digits for irrational values) decides where a
numeric rule applies and checks that a "wrong" rewrite really changes the value.
Stdlib only.
"""
import decimal
import glob
import json
import math
import os
import re
import sys
from fractions import Fraction

D = decimal.Decimal
CTX = decimal.Context(prec=60)
PI = D("3.14159265358979323846264338327950288419716939937510582097494459")
MAX_EXP = 20000          # integer exponents evaluated exactly up to this size
MAX_FACT = 2000


class EvalError(Exception):
    pass


# ---------------------------------------------------------------- a small LaTeX evaluator
TOKEN = re.compile(r"\s*(\\left|\\right|\\[a-zA-Z]+|\d+\.\d*|\.\d+|\d+|[a-zA-Z]|\\[,;!: ]|.)")


def tokens(s):
    out = []
    pos = 0
    s = s.strip()
    while pos < len(s):
        m = TOKEN.match(s, pos)
        if not m:
            raise EvalError("bad token")
        t = m.group(1)
        pos = m.end()
        if t in ("\\left", "\\right", "\\,", "\\;", "\\!", "\\:", "\\ ", "") or t.isspace():
            continue
        out.append(t)
    return out


def to_dec(v):
    return v if isinstance(v, D) else CTX.divide(D(v.numerator), D(v.denominator))


def exact_root(q, n):
    """q^(1/n) as a Fraction when exact, else None."""
    if q < 0:
        if n % 2 == 0:
            raise EvalError("even root of a negative number")
        r = exact_root(-q, n)
        return -r if r is not None else None

    def iroot(a):
        lo, hi = 0, 1 << (a.bit_length() // n + 1)
        while lo < hi:                       # the largest c with c**n <= a
            mid = (lo + hi + 1) // 2
            if mid**n <= a:
                lo = mid
            else:
                hi = mid - 1
        return lo if lo**n == a else None

    a, b = iroot(q.numerator), iroot(q.denominator)
    return Fraction(a, b) if a is not None and b is not None else None


def power(base, ex):
    if isinstance(base, Fraction) and isinstance(ex, Fraction):
        if ex.denominator == 1:
            if abs(ex.numerator) > MAX_EXP or (base == 0 and ex < 0):
                raise EvalError("exponent too large")
            return base ** ex.numerator
        if ex.denominator <= 12:
            r = exact_root(base, ex.denominator)
            if r is not None:
                return power(r, Fraction(ex.numerator))
    b, e = to_dec(base), to_dec(ex)
    if b <= 0:
        raise EvalError("non-positive base with a non-integer exponent")
    return CTX.power(b, e)


def sqrt(v, n=2):
    if isinstance(v, Fraction):
        r = exact_root(v, n)
        if r is not None:
            return r
    if v < 0:
        if n % 2 == 0:
            raise EvalError("square root of a negative number")
        return -power(to_dec(-v), Fraction(1, n))
    return power(v, Fraction(1, n))


def arith(op, a, b):
    if isinstance(a, Fraction) and isinstance(b, Fraction):
        if op == "/" and b == 0:
            raise EvalError("division by zero")
        return {"+": a + b, "-": a - b, "*": a * b, "/": a / b if op == "/" else None}[op]
    a, b = to_dec(a), to_dec(b)
    if op == "/" and b == 0:
        raise EvalError("division by zero")
    return {"+": CTX.add, "-": CTX.subtract, "*": CTX.multiply, "/": CTX.divide}[op](a, b)


class Parser:
    def __init__(self, s):
        self.t = tokens(s)
        self.i = 0

    def peek(self):
        return self.t[self.i] if self.i < len(self.t) else None

    def eat(self, want=None):
        t = self.peek()
        if t is None or (want is not None and t != want):
            raise EvalError("unexpected token")
        self.i += 1
        return t

    def parse(self):
        v = self.expr()
        if self.peek() is not None:
            raise EvalError("trailing input")
        return v

    def expr(self):
        v = self.term()
        while self.peek() in ("+", "-"):
            op = self.eat()
            v = arith(op, v, self.term())
        return v

    def term(self):
        v = self.unary()
        while True:
            t = self.peek()
            if t in ("\\cdot", "\\times", "*"):
                self.eat()
                v = arith("*", v, self.unary())
            elif t == "/":
                self.eat()
                v = arith("/", v, self.unary())
            elif t is not None and (t[0].isdigit() or t in ("(", "{", "\\frac", "\\dfrac", "\\tfrac",
                                                             "\\sqrt", "\\pi")):
                v = arith("*", v, self.power())
            else:
                return v

    def unary(self):
        if self.peek() == "-":
            self.eat()
            return arith("-", Fraction(0), self.unary())
        if self.peek() == "+":
            self.eat()
            return self.unary()
        return self.power()

    def power(self):
        v = self.postfix()
        if self.peek() == "^":
            self.eat()
            if self.peek() == "\\circ":              # ^\circ: degrees, a unit
                self.eat()
                return v
            if self.t[self.i:self.i + 3] == ["{", "\\circ", "}"]:
                self.i += 3
                return v
            if self.peek() == "{":
                ex = self.group()
            else:
                ex = self.postfix()
            v = power(v, ex)
        return v

    def postfix(self):
        v = self.atom()
        while self.peek() == "!":
            self.eat()
            if not isinstance(v, Fraction) or v.denominator != 1 or not 0 <= v <= MAX_FACT:
                raise EvalError("bad factorial")
            v = Fraction(math.factorial(int(v)))
        return v

    def group(self):
        self.eat("{")
        v = self.expr()
        self.eat("}")
        return v

    def arg(self):
        """A \\frac/\\sqrt argument: {expr} or a single digit/letter token."""
        if self.peek() == "{":
            return self.group()
        t = self.eat()
        if t.isdigit():
            return Fraction(int(t[0])) if len(t) == 1 else self._split_digit(t)
        raise EvalError("bad argument")

    def _split_digit(self, t):
        # \frac12: the first digit is the argument, the rest goes back as a number
        self.t.insert(self.i, t[1:])
        return Fraction(int(t[0]))

    def atom(self):
        t = self.eat()
        if re.fullmatch(r"\d+", t):
            return Fraction(int(t))
        if re.fullmatch(r"\d+\.\d*|\.\d+", t):
            return Fraction(D(t))
        if t == "(":
            v = self.expr()
            self.eat(")")
            return v
        if t == "{":
            v = self.expr()
            self.eat("}")
            return v
        if t in ("\\frac", "\\dfrac", "\\tfrac"):
            a = self.arg()
            b = self.arg()
            return arith("/", a, b)
        if t == "\\sqrt":
            n = 2
            if self.peek() == "[":
                self.eat("[")
                nv = self.expr()
                self.eat("]")
                if not isinstance(nv, Fraction) or nv.denominator != 1 or not 2 <= nv <= 12:
                    raise EvalError("bad root index")
                n = int(nv)
            return sqrt(self.arg(), n)
        if t == "\\pi":
            return PI
        raise EvalError("unsupported token")


def evaluate(s):
    """Value of a LaTeX answer: Fraction (exact), Decimal (irrational), or raises EvalError."""
    return Parser(s).parse()


# ---------------------------------------------------------------- answer shapes
def split_list(g):
    """Top-level comma-separated parts (outside braces/brackets/parentheses)."""
    parts, depth, cur = [], 0, ""
    for ch in g:
        if ch in "{([":
            depth += 1
        elif ch in "})]":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur.strip())
            cur = ""
        else:
            cur += ch
    parts.append(cur.strip())
    return parts


def is_list(g):
    return len(split_list(g)) > 1 and not re.fullmatch(r"-?\d{1,3}(,\d{3})+", g.strip())


def value(g):
    try:
        return evaluate(g)
    except (EvalError, decimal.DecimalException, ValueError, ZeroDivisionError, OverflowError, RecursionError):
        return None


def values(g):
    """Sorted element values of g (a list or a single answer): Fractions when all are exact,
    else Decimals; None when some element cannot be evaluated."""
    out = []
    for p in split_list(g) if is_list(g) else [g]:
        v = value(p)
        if v is None:
            return None
        out.append(v)
    if not all(isinstance(v, Fraction) for v in out):
        out = [to_dec(v) for v in out]
    return sorted(out)


def same_values(a, b):
    """True/False when both evaluate (exactly when both are rational), None otherwise."""
    va, vb = values(a), values(b)
    if va is None or vb is None:
        return None
    if len(va) != len(vb):
        return False
    if all(isinstance(v, Fraction) for v in va + vb):
        return va == vb
    va, vb = [to_dec(v) for v in va], [to_dec(v) for v in vb]
    return all(abs(x - y) <= D("1e-40") * max(1, abs(x)) for x, y in zip(va, vb))


def terminating(q):
    d = q.denominator
    for p in (2, 5):
        while d % p == 0:
            d //= p
    return d == 1


def sig_digits(v, n):
    """v (Fraction or Decimal) as a plain decimal with n significant digits."""
    d = to_dec(v)
    if d == 0:
        return "0"
    q = CTX.plus(d)
    places = n - 1 - q.adjusted()
    s = format(q.quantize(D(1).scaleb(-places), rounding=decimal.ROUND_HALF_EVEN, context=CTX), "f") \
        if places > 0 else format(q.quantize(D(1), context=CTX), "f")
    return s


def exact_decimal(q):
    """A terminating Fraction as its exact decimal string."""
    sign = "-" if q < 0 else ""
    q = abs(q)
    k = 0
    while (q * 10**k).denominator != 1:
        k += 1
    n = q.numerator * 10**k // q.denominator
    s = str(n).rjust(k + 1, "0")
    return sign + (s[:-k] + "." + s[-k:] if k else s)


def fraction_latex(q):
    if q.denominator == 1:
        return str(q.numerator)
    sign = "-" if q < 0 else ""
    return "%s\\frac{%d}{%d}" % (sign, abs(q.numerator), q.denominator)


PLAIN_INT = re.compile(r"-?\d+")
SIMPLE_FRAC = re.compile(r"(-?)\\frac\{(\d+)\}\{(\d+)\}")
DEGREE = re.compile(r"\^\s*\\circ\s*$|\^\{\\circ\}\s*$")


# ---------------------------------------------------------------- the rules
def boxed(ans, pre="The answer is "):
    return pre + "\\boxed{" + ans + "}"


def first_elem(g, f):
    """Applies f to the first element of a list answer, or to the whole answer."""
    if is_list(g):
        parts = split_list(g)
        return ", ".join([f(parts[0])] + parts[1:])
    return f(g)


def r_dfrac(g):
    return boxed(g.replace("\\frac", "\\dfrac")) if "\\frac" in g else None


def r_tfrac(g):
    return boxed(g.replace("\\frac", "\\tfrac")) if "\\frac" in g else None


def r_spaced(g):
    s = re.sub(r"\s*([+=,]|(?<![\^{])-)\s*", r" \1 ", g)
    s = re.sub(r"\s+", " ", s).strip()
    s = s.replace("\\sqrt", "\\sqrt ").replace("\\frac", "\\frac ")
    return boxed(s) if s != g else boxed(" " + g + " ")


def r_nospace(g):
    s = re.sub(r"(\\[a-zA-Z]+)\s+(?=[a-zA-Z])", r"\1<SP>", g)
    s = re.sub(r"\s+", "", s).replace("<SP>", " ")
    return boxed(s) if s != g else None


def r_display(g):
    return "Hence\n$$\n\\boxed{" + g + "}\n$$"


def r_decoy(g):
    return "First attempt: \\boxed{" + first_elem(g, lambda p: "(" + p + ")+1") + "}.\n" \
           "That was wrong; rechecking, the answer is $\\boxed{" + g + "}$."


def r_assign(g):
    return boxed("x = " + g)


def r_leftright(g):
    return None if is_list(g) else boxed("\\left(" + g + "\\right)")


def r_swap(g):
    if not is_list(g):
        return None
    return boxed(", ".join(reversed(split_list(g))))


def r_expand(g):
    """The exact rational value in digits, when g is an integer/rational expression not already so."""
    v = value(g) if not is_list(g) else None
    if not isinstance(v, Fraction) or PLAIN_INT.fullmatch(g.strip()) or SIMPLE_FRAC.fullmatch(g.strip()) \
            or DEGREE.search(g):
        return None
    return boxed(fraction_latex(v))


def r_decimal(g):
    v = value(g) if not is_list(g) else None
    if not isinstance(v, Fraction) or v.denominator == 1 or not terminating(v):
        return None
    return boxed(exact_decimal(v))


def r_dec15(g):
    v = value(g) if not is_list(g) else None
    return boxed(sig_digits(v, 15)) if isinstance(v, D) else None


def r_slash(g):
    m = SIMPLE_FRAC.fullmatch(g.strip())
    return boxed("%s%s/%s" % m.groups()) if m else None


def r_thousands(g):
    if not PLAIN_INT.fullmatch(g.strip()) or abs(int(g)) < 1000:
        return None
    return boxed("{:,}".format(int(g)))


def r_zeropad(g):
    if not re.fullmatch(r"\d+", g.strip()):
        return None
    return boxed(g.strip().rjust(3, "0") if len(g.strip()) < 3 else "0" + g.strip())


def r_think(g):
    return "<think>Maybe \\boxed{" + first_elem(g, lambda p: "(" + p + ")+1") + "}? Let me check.</think>\n" \
           "So the final answer is \\boxed{" + g + "}."


def r_nodegree(g):
    return boxed(DEGREE.sub("", g).strip()) if DEGREE.search(g) else None


def r_degtext(g):
    return boxed(DEGREE.sub("", g).strip() + " \\text{ degrees}") if DEGREE.search(g) else None


def r_plus1(g):
    return boxed(first_elem(g, lambda p: "(" + p + ")+1"))


def r_double(g):
    return boxed(first_elem(g, lambda p: "2(" + p + ")"))


def r_neg(g):
    s = first_elem(g, lambda p: "-(" + p + ")")
    return None if same_values(g, s) is not False else boxed(s)


def r_digit(g):
    """The last digit whose change (d -> d+1 mod 10) gives an evaluable, different value."""
    for m in reversed(list(re.finditer(r"\d", g))):
        k = m.start()
        s = g[:k] + str((int(g[k]) + 1) % 10) + g[k + 1:]
        if same_values(g, s) is False:
            return boxed(s)
    return None


def r_drop(g):
    return boxed(", ".join(split_list(g)[:-1])) if is_list(g) else None


def r_approx6(g):
    v = value(g) if not is_list(g) else None
    if v is None or (isinstance(v, Fraction) and terminating(v)):
        return None
    return boxed(sig_digits(v, 6))


def r_dec15_rational(g):
    v = value(g) if not is_list(g) else None
    if not isinstance(v, Fraction) or terminating(v):
        return None
    return boxed(sig_digits(v, 15))


def r_decoy_last(g):
    return "I get \\boxed{" + g + "}.\nOn reflection the answer is \\boxed{" + \
           first_elem(g, lambda p: "(" + p + ")+1") + "}."


def r_nobox(g):
    return "The answer is $" + g + "$."


def r_think_only(g):
    return "<think>So it is \\boxed{" + g + "}.</think>\nI have finished."


MV_ROUND = "math-verify rounds to 6 decimals / compares at 15 digits, so it accepts an inexact decimal"
MV_THINK = "the RSA pipeline ignores </think>, so it finds the box inside the thinking"

# name: (expected, function, options, why expected is right where math-verify may disagree)
RULES = {
    "same": (True, lambda g: boxed(g), {}, ""),
    "dfrac": (True, r_dfrac, {}, "\\dfrac is \\frac"),
    "tfrac": (True, r_tfrac, {}, "\\tfrac is \\frac"),
    "spaced": (True, r_spaced, {}, "spaces do not change LaTeX math"),
    "nospace": (True, r_nospace, {}, "spaces do not change LaTeX math"),
    "display": (True, r_display, {}, "$$...$$ around the box"),
    "decoy": (True, r_decoy, {}, "an earlier wrong box: the last box wins"),
    "assign": (True, r_assign, {}, "x = G states the answer G"),
    "leftright": (True, r_leftright, {}, "\\left(G\\right) is G"),
    "swap": (True, r_swap, {}, "a list answer is unordered"),
    "expand": (True, r_expand, {}, "the exact value in digits"),
    "decimal": (True, r_decimal, {}, "the exact terminating decimal"),
    "dec15": (True, r_dec15, {}, "15 significant digits of an irrational value: the numeric test accepts"),
    "slash": (True, r_slash, {}, "a/b is \\frac{a}{b}"),
    "thousands": (True, r_thousands, {}, "thousands separators"),
    "zeropad": (True, r_zeropad, {}, "AIME-style leading zeros"),
    "think": (True, r_think, {"after_think": True}, "the box after </think> counts"),
    "nodegree": (True, r_nodegree, {}, "the degree sign is a unit"),
    "degtext": (True, r_degtext, {}, "\\text{ degrees} is a unit"),
    "plus1": (False, r_plus1, {}, "(G)+1 differs from G"),
    "double": (False, r_double, {}, "2(G) differs from G (G is never 0)"),
    "neg": (False, r_neg, {}, "-(G) differs from G"),
    "digit": (False, r_digit, {}, "one digit changed (kept only when the value changes); math-verify compares"
              " at 15-digit precision, so a change far below that (in a huge denominator) goes unseen"),
    "drop": (False, r_drop, {}, "a list answer with an element missing"),
    "approx6": (False, r_approx6, {}, "6 significant digits of a non-terminating value are not the answer; " + MV_ROUND),
    "dec15_rational": (False, r_dec15_rational, {},
                       "a finite decimal is a different rational than a non-terminating one; " + MV_ROUND),
    "decoy_last": (False, r_decoy_last, {}, "the last box (a wrong one) wins"),
    "nobox": (False, r_nobox, {}, "strict: no box, no answer"),
    "think_only": (False, r_think_only, {"after_think": True},
                   "after_think: a box only inside the thinking is no answer; " + MV_THINK),
}


def cases_for(row):
    g = row["answer"]
    for name, (expected, fn, opts, _why) in RULES.items():
        resp = fn(g)
        if resp is None:
            continue
        c = {"id": "%s#%s" % (row["id"], name), "gold": g, "response": resp, "expected": expected}
        c.update(opts)
        c["tags"] = ["hmmt", name]
        yield c


def inputs(args):
    for a in args:
        if os.path.isdir(a):
            yield from sorted(glob.glob(os.path.join(a, "hmmt_feb_*.jsonl")))
        else:
            yield a


def main():
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    sys.set_int_max_str_digits(0)
    n = 0
    for path in inputs(sys.argv[1:]):
        with open(path, encoding="utf-8") as f:
            for line in f:
                if line.strip():
                    for c in cases_for(json.loads(line)):
                        sys.stdout.write(json.dumps(c, ensure_ascii=False) + "\n")
                        n += 1
    print(f"{n} cases", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
