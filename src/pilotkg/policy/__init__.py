"""pilotkg.policy"""

from pilotkg.policy.base import Article, Corpus, Direction, Group, PolicyDocument, Requirement, Rule, RuleKind, Span
from pilotkg.policy.corpus import load_corpus
from pilotkg.policy.quantity import UNITS, Quantity, compare, extract_quantities
from pilotkg.policy.text import (
    Heading,
    MappedText,
    Sentence,
    Tokenizer,
    bm25_doc_vector,
    bm25_query_vector,
    domain_terms_from,
    headings,
    is_negated,
    normalize_mapped,
    prepare_query,
    split_clauses,
    split_sentences,
)

__all__ = [
    "UNITS",
    "Article",
    "Corpus",
    "Direction",
    "Group",
    "Heading",
    "MappedText",
    "PolicyDocument",
    "Quantity",
    "Requirement",
    "Rule",
    "RuleKind",
    "Sentence",
    "Span",
    "Tokenizer",
    "bm25_doc_vector",
    "bm25_query_vector",
    "compare",
    "domain_terms_from",
    "extract_quantities",
    "headings",
    "is_negated",
    "load_corpus",
    "normalize_mapped",
    "prepare_query",
    "split_clauses",
    "split_sentences",
]
