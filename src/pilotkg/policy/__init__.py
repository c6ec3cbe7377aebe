"""pilotkg.policy"""

from pilotkg.policy.applyinfo import ApplyInfo, apply_info
from pilotkg.policy.base import Article, Corpus, Direction, Group, PolicyDocument, Requirement, Rule, RuleKind, Span
from pilotkg.policy.corpus import load_corpus
from pilotkg.policy.quantity import UNITS, Quantity, compare, extract_quantities
from pilotkg.policy.text import (
    MappedText,
    Sentence,
    Tokenizer,
    bm25_doc_vector,
    bm25_query_vector,
    display_text,
    domain_terms_from,
    normalize_mapped,
    prepare_query,
    split_clauses,
    split_sentences,
)

__all__ = [
    "UNITS",
    "ApplyInfo",
    "Article",
    "Corpus",
    "Direction",
    "Group",
    "MappedText",
    "PolicyDocument",
    "Quantity",
    "Requirement",
    "Rule",
    "RuleKind",
    "Sentence",
    "Span",
    "Tokenizer",
    "apply_info",
    "bm25_doc_vector",
    "bm25_query_vector",
    "compare",
    "display_text",
    "domain_terms_from",
    "extract_quantities",
    "load_corpus",
    "normalize_mapped",
    "prepare_query",
    "split_clauses",
    "split_sentences",
]
