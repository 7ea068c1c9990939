using NUnit.Framework;

// libtorch tests share native state (threads, RNG): run them one at a time.
[assembly: NonParallelizable]
[assembly: LevelOfParallelism(1)]
