"""The documentation site's tools: configuration pages generated from the code
(:mod:`docsite.configpages`) and the griffe extension the API reference is built with."""
