//! The gateway server: authenticate, plan, fan out, merge, render
