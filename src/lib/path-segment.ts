/**
 * Whether a name cannot stand as one path segment of a URL: "." and ".." are
 * folded away by every URL parser (percent-encoded too), so an address naming
 * such a feature or package reaches another route. Dots inside a name are fine.
 */
export const isDotName = (name: string): boolean => name === '.' || name === '..';
