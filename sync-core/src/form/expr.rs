//! XPath expressions of XLSForm (to be written).
