document.querySelectorAll('input.filter').forEach(function (box) {
  var target = document.getElementById(box.getAttribute('data-filter'));
  if (!target) { return; }
  var items = target.querySelectorAll('.pair, .group, .problem');
  box.hidden = false;
  box.addEventListener('input', function () {
    var q = box.value.trim().toLowerCase();
    items.forEach(function (el) {
      el.hidden = q !== '' && el.textContent.toLowerCase().indexOf(q) < 0;
    });
  });
});
