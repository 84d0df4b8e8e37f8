using AutogradKit.Tests.Support;

// Every test of the suite fails if it leaves tensors alive behind it (see NoTensorLeaksAttribute);
// a test that must keep tensors says why with [AllowTensorLeaks("…")].
[assembly: NoTensorLeaks]

// Under Wine (the win-x64 test run), keep each test's SEH list as it found it (see the attribute).
[assembly: WineExceptionListRepair]

// Under Wine, skip the tests that hang Wine 8.0 itself (see the attribute).
[assembly: WineKnownHangs]
