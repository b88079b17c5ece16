"""Page-number pagination: ``{"count", "next", "previous", "results"}``."""

from django.core.paginator import InvalidPage
from django.db.models import QuerySet
from rest_framework.exceptions import NotFound
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request


class Pagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 1000

    def page_slice(self, queryset: QuerySet, request: Request) -> QuerySet:
        """``paginate_queryset`` without evaluating the page: its slice of ``queryset``, to
        be used as a subquery (the same validation, count and links)."""
        self.request = request
        paginator = self.django_paginator_class(queryset, self.get_page_size(request))
        number = self.get_page_number(request, paginator)
        try:
            self.page = paginator.page(number)
        except InvalidPage as error:
            message = self.invalid_page_message.format(page_number=number, message=str(error))
            raise NotFound(message) from error
        return self.page.object_list
