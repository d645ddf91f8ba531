// Placeholder entry point until this component lands; replaced by its owner.
return 2;
