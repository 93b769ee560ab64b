// Where frames come from: a camera (getUserMedia), a local video file (looped) or a still image,
// captured as JPEG from a canvas, the longer side at most MAX_SIDE pixels.
const MAX_SIDE = 960;
const JPEG_QUALITY = 0.85;

export class FrameSource {
  constructor(video) {
    this.video = video;
    this.canvas = document.createElement("canvas");
    this.image = null;
    this.stream = null;
    this.objectUrl = null;
  }

  async startCamera(deviceId) {
    this.stop();
    const video = deviceId ? { deviceId: { exact: deviceId } } : true;
    this.stream = await navigator.mediaDevices.getUserMedia({ video, audio: false });
    this.video.srcObject = this.stream;
    await this.video.play();
  }

  async startFile(file) {
    this.stop();
    if (file.type.startsWith("image/")) {
      this.image = await createImageBitmap(file);
      return;
    }
    this.objectUrl = URL.createObjectURL(file);
    this.video.src = this.objectUrl;
    this.video.loop = true;
    await this.video.play();
  }

  get ready() {
    return this.image !== null || this.video.readyState >= HTMLMediaElement.HAVE_CURRENT_DATA;
  }

  /** The current picture: a bitmap to draw results on, and its JPEG bytes to send. */
  async capture() {
    const picture = this.image ?? this.video;
    const width = this.image ? this.image.width : this.video.videoWidth;
    const height = this.image ? this.image.height : this.video.videoHeight;
    const scale = Math.min(1, MAX_SIDE / Math.max(width, height));
    this.canvas.width = Math.round(width * scale);
    this.canvas.height = Math.round(height * scale);
    this.canvas.getContext("2d").drawImage(picture, 0, 0, this.canvas.width, this.canvas.height);
    const bitmap = await createImageBitmap(this.canvas);
    const jpeg = await new Promise((resolve) => this.canvas.toBlob(resolve, "image/jpeg", JPEG_QUALITY));
    return { bitmap, jpeg };
  }

  stop() {
    this.stream?.getTracks().forEach((track) => track.stop());
    this.stream = null;
    this.video.pause();
    this.video.srcObject = null;
    if (this.objectUrl) URL.revokeObjectURL(this.objectUrl);
    this.objectUrl = null;
    this.video.removeAttribute("src");
    this.image?.close();
    this.image = null;
  }
}

export async function cameras() {
  const devices = await navigator.mediaDevices.enumerateDevices();
  return devices.filter((device) => device.kind === "videoinput");
}
