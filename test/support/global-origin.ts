// Placeholder replaced by the real SDK origin harness.
export default function setup(): void {}
