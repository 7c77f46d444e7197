"""RE2 -> Python translation: Go's answers (as Prometheus 3.x anchors them: ^(?s:RE)$)."""
import pytest

from kubectl_linkerd_otel.scrape.re2 import RE2Error, compile_anchored, translate

# (RE2 pattern, text, does Go's ^(?s:RE)$ match?)
MATCHES = [
    ("abc", "abc", True),
    ("abc", "abc\n", False),                 # Python's $ would match before the trailing newline
    ("abc$", "abc\n", False),
    ("a.b", "a\nb", True),                   # 3.x: (?s:...), dot matches newline
    ("(?-s:a.b)", "a\nb", False),
    ("a{,3}", "a{,3}", True),                # not a repetition in RE2
    ("a{,3}", "aaa", False),
    ("a{01}", "a{01}", True),                # leading zero: literal
    ("a{2}", "aa", True),
    ("a{2,}", "aaaa", True),
    ("a{1,2}b", "aab", True),
    ("\\pL+", "Ünï", True),
    ("\\pL", "1", False),
    ("\\p{Lu}\\p{Ll}", "Ab", True),
    ("\\PL", "1", True),
    ("\\p{^L}", "1", True),
    ("[\\p{N}x]+", "x١2", True),
    ("[[:digit:]]+", "123", True),
    ("[[:^alpha:]]", "1", True),
    ("[[:alpha:]]", "é", False),             # POSIX classes are ASCII
    ("\\Qa.b*\\E", "a.b*", True),
    ("\\Qa.b*\\E", "axbb", False),
    ("\\Qopen", "open", True),               # \Q without \E runs to the end
    ("\\d", "١", False),                     # Perl classes are ASCII in RE2
    ("\\w+", "straße", False),
    ("\\s", "\v", False),                    # RE2's \s has no \v
    ("\\s", "\f", True),
    ("(?i)straße", "STRAßE", True),
    ("(?i)k", "\u212a", True),               # Kelvin sign folds to k
    ("x(?i)b|c", "C", True),                 # flags run to the end of the group, across |
    ("(?i:a)b", "AB", False),
    ("[^a]", "\n", True),                    # negated classes match newline
    ("\\x41\\x{263a}\\101", "A\u263aA", True),
    ("\\.\\_\\-", "._-", True),
    ("(?m)a$\\n^b", "a\nb", True),
    ("^a$", "a", True),
    ("(?U)a+", "aa", True),
    ("", "", True),
    ("", "x", False),
    ("a|", "", True),
    ("[]a]+", "]a", True),
    ("[a-]+", "a-", True),
    ("\\bx\\b", "x", True),
    (".*\\bx\\b.*", "éxé", True),            # ASCII word boundary: é is not a word character
    ("(?P<n>a)(?<m>b)", "ab", True),
    ("(?P<n>x)(?P<n>y)", "xy", True),        # Go accepts a name twice
    ("^*a", "a", True),
]


@pytest.mark.parametrize("pattern,text,expected", MATCHES)
def test_matches_like_go(pattern, text, expected):
    assert (compile_anchored(pattern).fullmatch(text) is not None) is expected


REJECTED = [
    ("a(?=b)", "lookaround"),
    ("(?<=a)b", "lookbehind"),
    ("(?!a)", "lookaround"),
    ("(?>a)", "atomic"),
    ("(a)\\1", "backreference"),
    ("(?P=n)", "backreference"),
    ("a**", "nested repetition"),
    ("a++", "nested repetition"),
    ("a{2}*", "nested repetition"),
    ("*a", "missing argument"),
    ("a|*", "missing argument"),
    ("a{1001}", "invalid repeat count"),
    ("(a{500}){3}", "invalid repeat count"),
    ("\\Z", "invalid escape"),
    ("\\8", "invalid escape"),
    ("[\\b]", "invalid escape"),
    ("[z-a]", "invalid character class range"),
    ("[[:foo:]]", "invalid character class range"),
    ("(?x)a", "unsupported Perl syntax"),
    ("(?#c)", "comments"),
    ("(a", "missing closing )"),
    ("a)", "unexpected )"),
    ("[a", "missing closing ]"),
    ("a\\", "trailing backslash"),
    ("\\p{Greek}", "scripts"),
]


@pytest.mark.parametrize("pattern,words", REJECTED)
def test_rejects_what_go_rejects(pattern, words):
    with pytest.raises(RE2Error) as info:
        compile_anchored(pattern)
    assert words in str(info.value)


def test_group_names_are_ours_not_pythons():
    tr = translate("(?P<1x>a)(?<ns>b)(c)")
    assert tr.groups == 3
    assert tr.group_names == {"1x": [1], "ns": [2]}
    assert "?P<" not in tr.python


def test_compiled_once():
    assert compile_anchored("x(y)z") is compile_anchored("x(y)z")
