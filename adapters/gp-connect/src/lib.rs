//! Source adapter for GP practices through GP Connect Access Record: Structured (kind gp-connect)
